"""`sockdoctor fix`: plans (plan.py), unified-diff application (patch.py), transactions (txn.py)."""
