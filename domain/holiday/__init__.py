"""The children's holiday programme of each town (Ferienspiele, § 11 SGB VIII).

``programme`` holds a town's programme of a year (its offerings by code); ``offering`` one
offering with its registrations, its draw (domain/rules/holiday_draw.py) and its waiting
list. The registration case is domain/services/holiday_registration.py.
"""
