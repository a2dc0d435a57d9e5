/* Placeholder until the command line lands; replaced in the next commit. */
int main(void) { return 0; }
