"""Public pages every Dutch government site must have, outside any tenant: the security.txt of
RFC 9116, the coordinated vulnerability disclosure page and the cookie statement."""
