"""The customers' own pages at ``/me``: a short-lived link the store's backend requests for a
logged-in customer, the customer's session, and their pages (docs/customer-pages.md, decision 0035)."""
