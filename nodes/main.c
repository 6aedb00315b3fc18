/* placeholder */ int lex_placeholder_main(void); int lex_placeholder_main(void){return 0;}
