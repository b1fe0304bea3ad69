"""Voice of the customer: what contacts are about, how customers feel, and what is rising.

Reads the hub's storage and writes nothing but its own results (reports, alert state).
"""
