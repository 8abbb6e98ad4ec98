// Each fault test runs its own cluster of service processes (and one its own PostgreSQL) and measures how long
// recovery takes: run them one at a time, so that one test's processes do not slow another's figures.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
