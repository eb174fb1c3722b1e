"""my_lemma: an example research package whose lemmas are cnnverify claims (see my_lemma.claims)."""
