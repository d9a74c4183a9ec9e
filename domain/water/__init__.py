"""Water meters (Wasserzähler) and the yearly reading campaigns of each town's water supply.

``meter`` holds one meter's facts and its history of readings, each checked or estimated by
domain/rules/water_meters.py with the record it replays from; ``campaign`` holds a town's
reading campaign of a year with its deadline and what it counted.
"""
