"""Jobs built from the packages below: the main job (`up`) and, later, retraining pipelines."""
