namespace Akka.EventDriven.EventBus;

/// <summary>A request handler threw: the caller gets this instead of a timeout.</summary>
public sealed class RequestFailedException(string subject, string errorType, string error)
    : Exception($"The handler of '{subject}' failed: {errorType}: {error}")
{
    /// <summary>The request subject.</summary>
    public string Subject { get; } = subject;
    /// <summary>The CLR type name of the handler's exception.</summary>
    public string ErrorType { get; } = errorType;
    /// <summary>The handler's exception message.</summary>
    public string Error { get; } = error;
}
