package postgres

// MapError is mapError, for the tests of the mapping.
var MapError = mapError

// RetryAlone is retryAlone, for the tests of what a failed batch does.
var RetryAlone = retryAlone

// KeyLookups are the statements that find rows by a primary key (or a prefix of one), by
// name, for the test of their plans on a table without statistics.
var KeyLookups = map[string]string{
	"get assignment":           getAssignmentSQL,
	"get many assignments":     getManySQL,
	"get a user's assignments": getUserAssignmentsSQL,
	"batch get":                getUserAssignmentsInSQL,
	"decide (reading)":         decideReadingSQL,
	"decide (exposing)":        decideExposingSQL,
	"expose stored (group)":    exposeStoredSQL,
	"record conversion":        recordConversionSQL,
	"delete assignment":        deleteAssignmentSQL,
	"history":                  historySQL,
	"get vwo fme record":       getVWOFMERecordSQL,
	"get growthbook buckets":   getStickyBucketsSQL,
	"get optimizely profile":   getUserProfileSQL,
	"get persisted values":     getPersistedValuesSQL,
}
