module github.com/uss/uss

go 1.26.8
