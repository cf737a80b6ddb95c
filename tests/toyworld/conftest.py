def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes minutes on a 2-core CPU (toy-world inversion bars)")
