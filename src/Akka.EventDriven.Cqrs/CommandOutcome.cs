using Akka.EventDriven.Diagnostics;
using System.Collections.Concurrent;
using Akka.EventDriven.EventSourcing;

namespace Akka.EventDriven.Cqrs;

/// <summary>The result of <see cref="CommandBus.ExecuteAsync"/>: success with the handler's data, or the kind of failure and its error.</summary>
/// <param name="Success">True when the command succeeded.</param>
/// <param name="Data">What the handler returned (for aggregate commands: the <see cref="CommandAccepted"/>).</param>
/// <param name="ErrorKind">Why it failed, when it did.</param>
/// <param name="Error">A message saying why, when it failed.</param>
public sealed record CommandOutcome(bool Success, object? Data = null, CommandErrorKind? ErrorKind = null, string? Error = null)
{
    /// <summary>A success carrying <paramref name="data"/>.</summary>
    public static CommandOutcome Ok(object? data = null) => new(true, data);
    /// <summary>A failure of <paramref name="kind"/>.</summary>
    public static CommandOutcome Fail(CommandErrorKind kind, string error) => new(false, null, kind, error);

    /// <summary>What the aggregate answered when it accepted the command (new version, raised events); null when the
    /// command failed or its handler was not an aggregate's (<see cref="CommandBus.RegisterAggregate{TCommand,TState}"/>).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public CommandAccepted? Accepted => Data as CommandAccepted;

    /// <summary>True, with <paramref name="data"/> set, when the command succeeded and its handler returned a
    /// <typeparamref name="T"/> (for aggregate commands, a <see cref="CommandAccepted"/>).</summary>
    public bool TryGetData<T>([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T data)
    {
        if (Success && Data is T typed)
        {
            data = typed;
            return true;
        }
        data = default;
        return false;
    }
}
