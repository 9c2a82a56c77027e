"""Brand and community analytics for community managers (/admin/analytics/), above moderation in the layers."""
