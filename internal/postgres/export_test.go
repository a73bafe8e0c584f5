package postgres

// MapError is mapError, for the tests of the mapping.
var MapError = mapError
