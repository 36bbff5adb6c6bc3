"""Electronic invoices: issue, verify, duplicate-reimbursement lock, regulator audit (not built yet)."""
