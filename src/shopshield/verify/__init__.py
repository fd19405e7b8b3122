"""Link, lookalike and message checks: is this link, SMS or chat message really the store's?"""
