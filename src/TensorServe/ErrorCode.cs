namespace TensorServe;

/// <summary>
/// Canonical status codes, numbered as <c>tensorflow.error.Code</c> (and so as gRPC's <c>StatusCode</c>): every error the
/// server reports carries one, and each transport maps it in one place (REST: spec §1.3, gRPC: same number).
/// </summary>
public enum ErrorCode
{
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

public static class ErrorCodes
{
    /// <summary>The enum name TF prints (<c>INVALID_ARGUMENT</c>), as in status JSON and <c>Status::ToString</c>.</summary>
    public static string Name(ErrorCode code) => code switch
    {
        ErrorCode.Ok => "OK",
        ErrorCode.Cancelled => "CANCELLED",
        ErrorCode.Unknown => "UNKNOWN",
        ErrorCode.InvalidArgument => "INVALID_ARGUMENT",
        ErrorCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        ErrorCode.NotFound => "NOT_FOUND",
        ErrorCode.AlreadyExists => "ALREADY_EXISTS",
        ErrorCode.PermissionDenied => "PERMISSION_DENIED",
        ErrorCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        ErrorCode.FailedPrecondition => "FAILED_PRECONDITION",
        ErrorCode.Aborted => "ABORTED",
        ErrorCode.OutOfRange => "OUT_OF_RANGE",
        ErrorCode.Unimplemented => "UNIMPLEMENTED",
        ErrorCode.Internal => "INTERNAL",
        ErrorCode.Unavailable => "UNAVAILABLE",
        ErrorCode.DataLoss => "DATA_LOSS",
        ErrorCode.Unauthenticated => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    };

    /// <summary>TF Serving's <c>ToHTTPStatusCode</c> (spec §1.3).</summary>
    public static int ToHttpStatus(ErrorCode code) => code switch
    {
        ErrorCode.Ok => 200,
        ErrorCode.Cancelled => 499,
        ErrorCode.Unknown => 500,
        ErrorCode.InvalidArgument => 400,
        ErrorCode.DeadlineExceeded => 504,
        ErrorCode.NotFound => 404,
        ErrorCode.AlreadyExists => 409,
        ErrorCode.PermissionDenied => 403,
        ErrorCode.ResourceExhausted => 429,
        ErrorCode.FailedPrecondition => 400,
        ErrorCode.Aborted => 409,
        ErrorCode.OutOfRange => 400,
        ErrorCode.Unimplemented => 501,
        ErrorCode.Internal => 500,
        ErrorCode.Unavailable => 503,
        ErrorCode.DataLoss => 500,
        ErrorCode.Unauthenticated => 401,
        _ => 500,
    };
}

/// <summary>
/// A request or load failure with a canonical code and TF Serving's message text. The message is exactly what clients
/// see (REST <c>{"error": ...}</c>, gRPC status detail), so it must match the spec's catalog.
/// </summary>
public sealed class ServingException(ErrorCode code, string message, Exception? inner = null) : Exception(message, inner)
{
    public ErrorCode Code { get; } = code;

    /// <summary><c>absl::Status::ToString()</c>: <c>INVALID_ARGUMENT: message</c>, used where TF nests statuses.</summary>
    public string StatusString => $"{ErrorCodes.Name(Code)}: {Message}";

    public static ServingException InvalidArgument(string message) => new(ErrorCode.InvalidArgument, message);
    public static ServingException NotFound(string message) => new(ErrorCode.NotFound, message);
    public static ServingException FailedPrecondition(string message) => new(ErrorCode.FailedPrecondition, message);
    public static ServingException Unimplemented(string message) => new(ErrorCode.Unimplemented, message);
    public static ServingException Internal(string message) => new(ErrorCode.Internal, message);
}
