/* STUB test - replaced by the module work. */
int main(void) { return 77; }
