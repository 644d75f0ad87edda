"""The coach pool: coach profiles, matching coaches to learners, coach days."""
