#!/bin/sh
# Example exec function: the event arrives on stdin; what it prints on stdout is the output.
# Counts the words of the event's text.
words=$(wc -w | tr -d ' ')
printf '{"words": %s}\n' "$words"
