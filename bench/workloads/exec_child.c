/* the program the exec storm runs: does nothing (uniquely named so monitors' output can be counted) */
int main(void) { return 0; }
