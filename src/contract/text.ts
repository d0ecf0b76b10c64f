// Free text in the wire contract. PostgreSQL refuses a NUL byte in text (SQLite stores it), so a field that lets one
// through answers 201 on one database and 500 on the other; control characters have no place in names, subjects or
// URLs either, and RFC 6749 allows none in its parameters.

/** A C0 control character or DEL. */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
export const CONTROL_CHARACTER = /[\x00-\x1F\x7F]/;
/** Text without a C0 control character or DEL. */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
export const NO_CONTROL_CHARACTERS = /^[^\x00-\x1F\x7F]*$/;
/** Text without a NUL byte, for prose that may keep its line breaks. */
// eslint-disable-next-line no-control-regex -- the NUL byte is what it refuses
export const NO_NUL = /^[^\x00]*$/;
export const NO_CONTROL_CHARACTERS_RULE = 'must not contain control characters';
