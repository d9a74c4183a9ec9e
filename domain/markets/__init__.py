"""The markets of each town (Kerb, Christmas market) and the allocation of their pitches.

``market`` holds one market of a town and year: its pitches, published criteria and
deadline, the applications recorded, the selection (domain/rules/market_selection.py), and
the move-up when a trader gives a pitch up. ``calendar`` lists a town's markets of a year by
code. The application case is domain/services/market_stall.py; the fees are
domain/rules/market_fees.py.
"""
