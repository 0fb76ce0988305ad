"""Sample-quality metrics that work offline."""
