"""Optional integrations (each needs its extra): MLflow (``pip install explain[mlflow]``)."""
