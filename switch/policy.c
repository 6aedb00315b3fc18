/* placeholder */ int lex_placeholder_policy(void); int lex_placeholder_policy(void){return 0;}
