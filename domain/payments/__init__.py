"""E-payment (#24): what the town is owed, how business customers pay it, and the cash check.

A fee a decision assesses becomes a ``Receivable`` (one per Kassenzeichen): the cash office's
record of what is owed, paid, refunded or cancelled, posted to the municipal accounting (HKR)
through the feed. A ``PaymentRequest`` settles one or more receivables of one
``BusinessCustomer`` through a payment provider; callbacks arrive late, twice or out of order,
so it counts each provider event once and never loses money: what cannot be allocated is
recorded as overpaid and becomes a refund due. Refunds need four eyes. A ``Reconciliation``
records each comparison of a provider's settlement report with the payments recorded here.

All money is ``Decimal`` euros with two places (``money.py``). Payers' data and refund reasons
are ``PersonalData`` of the payment request; no card or account data is ever held. Guards live
in the command methods; ``@event`` methods only assign.
"""
