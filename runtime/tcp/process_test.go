package tcp_test

const childEnv = "PLEXO_TCP_TEST_CHILD"

func runChild() int { return 0 }
