# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed.cmake: a file as a C
# array (NUL-terminated) and its length, for files the binary serves.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE "${OUT}" "/* Generated from ${IN} by embed.cmake: do not edit. */\n"
     "const char ${NAME}[] = {${body} 0x00};\n"
     "const unsigned long ${NAME}_len = ${len};\n")
