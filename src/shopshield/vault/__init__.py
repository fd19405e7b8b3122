"""The personal-data vault: customers, addresses, orders, field encryption and masked views."""
