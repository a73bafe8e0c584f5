package postgres

// MapError is mapError, for the tests of the mapping.
var MapError = mapError

// RetryAlone is retryAlone, for the tests of what a failed batch does.
var RetryAlone = retryAlone
