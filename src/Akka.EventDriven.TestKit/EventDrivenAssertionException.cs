namespace Akka.EventDriven.TestKit;

/// <summary>A TestKit expectation did not hold. The message says what was expected and what happened, with messages
/// shown as their stable type names and JSON. An xUnit assertion failure (<see cref="Xunit.Sdk.XunitException"/>), so
/// test runners report it like a failed <c>Assert</c>.</summary>
public sealed class EventDrivenAssertionException : Xunit.Sdk.XunitException
{
    /// <summary>Creates the failure with its message.</summary>
    public EventDrivenAssertionException(string message) : base(message) { }

    /// <summary>Creates the failure with its message and the exception that caused it.</summary>
    public EventDrivenAssertionException(string message, Exception inner) : base(message, inner) { }
}
