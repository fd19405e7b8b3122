"""Security alerts: things the security team should look at now, such as a principal passing a
search limit. Each names an actor by id and says why in words; none carries a personal value."""
