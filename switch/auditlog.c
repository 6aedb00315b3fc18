/* placeholder */ int lex_placeholder_auditlog(void); int lex_placeholder_auditlog(void){return 0;}
