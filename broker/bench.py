def register(bench_sub): pass
