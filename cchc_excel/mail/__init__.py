"""The quarter's email round trip: drafting and sending each unit its template (`distribute`, `message`,
`smtp`),
collecting the attachments of replies (`collect`, `inbox`).

May import every stage before it.
"""
