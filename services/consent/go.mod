module github.com/iamplane/iam/services/consent

go 1.26.0

require github.com/iamplane/iam/pkg v0.0.0

replace github.com/iamplane/iam/pkg => ../../pkg
