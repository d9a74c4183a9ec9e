"""The services on offer: each a case type with its application data, rules and steps."""
