"""Assessments: the outcome of judging one subject against one principle ("pas toe of leg uit")."""
