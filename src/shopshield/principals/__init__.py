"""Principals: the staff, couriers, merchants, partners and services that call ShopShield."""
