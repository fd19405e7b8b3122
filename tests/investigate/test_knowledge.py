"""What an access reveals, against what a scammer knew."""

from __future__ import annotations

from shopshield.investigate.knowledge import STORE_HELD, explains, parse_items, revealed


def test_a_courier_label_does_not_explain_a_price() -> None:
    label = revealed(["name", "mobile", "address"], order_access=True)
    assert explains({"name", "mobile", "address"}, label)
    assert not explains({"name", "mobile", "price"}, label)


def test_an_order_view_with_items_explains_price_and_purchase_time() -> None:
    order_view = revealed(["name", "mobile", "items"], order_access=True)
    assert explains({"name", "mobile", "items", "price", "purchase_time", "order_id"}, order_view)
    assert not explains({"return_request"}, order_view)


def test_vault_field_names_count_like_the_shared_ones() -> None:
    assert revealed(["recipient", "phone", "street"], order_access=False) == {"name", "mobile", "address"}


def test_what_the_store_never_held_is_ignored() -> None:
    assert explains({"name", "bank_card", "sms_code"}, revealed(["name"], order_access=False))
    assert "bank_card" not in STORE_HELD


def test_an_access_without_an_order_reveals_no_order() -> None:
    assert "order_id" not in revealed(["name", "mobile"], order_access=False)
    assert "order_id" in revealed([], order_access=True)


def test_parse_items_trims_and_lowers() -> None:
    assert parse_items(" Name|MOBILE||price ") == {"name", "mobile", "price"}
    assert parse_items("") == frozenset()
    assert parse_items(None) == frozenset()
