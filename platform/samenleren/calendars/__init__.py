"""Calendar invitations (.ics), downloads and personal calendar feeds (issue 6)."""
