using System.Diagnostics;
using Akka.EventDriven.Diagnostics;
using System.Collections.Concurrent;
using Akka.EventDriven.EventSourcing;

namespace Akka.EventDriven.Cqrs;

/// <summary>
/// Routes commands to their handlers: one handler per command type; <see cref="ExecuteAsync"/> returns a
/// <see cref="CommandOutcome"/> and never throws for expected failures (validation, rejection, conflict, timeout,
/// missing handler, storage failure). <see cref="RegisterAggregate{TCommand,TState}"/> routes a command type to a
/// sharded aggregate through its repository. Thread-safe.
/// </summary>
public sealed class CommandBus
{
    private readonly ConcurrentDictionary<Type, Func<object, CancellationToken, Task<CommandOutcome>>> _handlers = new();

    /// <summary>Registers the handler of <typeparamref name="TCommand"/>; a second registration for the type throws.</summary>
    public CommandBus Register<TCommand>(Func<TCommand, CancellationToken, Task<CommandOutcome>> handler) where TCommand : notnull
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (!_handlers.TryAdd(typeof(TCommand), (c, ct) => handler((TCommand)c, ct)))
            throw new InvalidOperationException($"A handler for command '{typeof(TCommand).Name}' is already registered.");
        return this;
    }

    /// <summary>Sends <typeparamref name="TCommand"/> to the aggregate <paramref name="aggregateId"/> names, after
    /// <paramref name="validate"/> (which returns an error message or null).</summary>
    public CommandBus RegisterAggregate<TCommand, TState>(AggregateRepository<TState> repository, Func<TCommand, string> aggregateId,
        Func<TCommand, string?>? validate = null, Func<TCommand, CommandOptions?>? options = null)
        where TCommand : notnull where TState : notnull
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(aggregateId);
        return Register<TCommand>(async (command, ct) =>
        {
            if (validate?.Invoke(command) is { } invalid) return CommandOutcome.Fail(CommandErrorKind.Validation, invalid);
            return await repository.SendAsync(aggregateId(command), command, options?.Invoke(command), ct) switch
            {
                CommandAccepted accepted => CommandOutcome.Ok(accepted),
                CommandRejected { IsConcurrencyConflict: true } r => CommandOutcome.Fail(CommandErrorKind.ConcurrencyConflict, r.Reason),
                CommandRejected r => CommandOutcome.Fail(CommandErrorKind.Rejected, r.Reason),
                var other => CommandOutcome.Fail(CommandErrorKind.Failed, $"Unexpected result {other.GetType().Name}."),
            };
        });
    }

    /// <summary>True when a handler is registered for commands of <paramref name="commandType"/>.</summary>
    public bool Handles(Type commandType) => _handlers.ContainsKey(commandType);

    /// <summary>Executes <paramref name="command"/> with its registered handler. Each outcome is counted in meter
    /// <c>Akka.EventDriven.Cqrs</c> (<c>eventdriven.cqrs.commands</c> by <c>outcome</c>, and the
    /// <c>eventdriven.cqrs.command.duration</c> histogram).</summary>
    public async Task<CommandOutcome> ExecuteAsync(object command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = await ExecuteCoreAsync(command, cancellationToken);
        CqrsMetrics.CommandDone(command.GetType().Name, outcome, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return outcome;
    }

    private async Task<CommandOutcome> ExecuteCoreAsync(object command, CancellationToken cancellationToken)
    {
        if (!_handlers.TryGetValue(command.GetType(), out var handler))
            return CommandOutcome.Fail(CommandErrorKind.NoHandler, $"No handler is registered for command '{command.GetType().Name}'.");
        using var activity = CqrsTracing.Source.HasListeners()
            ? EventDrivenTracing.StartFrom(CqrsTracing.Source, $"command {command.GetType().Name}", ActivityKind.Internal, null)
            : null;
        var outcome = await RunAsync(handler, command, cancellationToken);
        if (activity is not null && !outcome.Success)
        {
            activity.SetTag("event_driven.error_kind", outcome.ErrorKind.ToString());
            activity.SetStatus(ActivityStatusCode.Error, outcome.Error);
        }
        return outcome;
    }

    private static async Task<CommandOutcome> RunAsync(Func<object, CancellationToken, Task<CommandOutcome>> handler, object command,
        CancellationToken cancellationToken)
    {
        try
        {
            return await handler(command, cancellationToken);
        }
        catch (TimeoutException e)
        {
            return CommandOutcome.Fail(CommandErrorKind.Timeout, e.Message);
        }
        catch (ArgumentException e)
        {
            return CommandOutcome.Fail(CommandErrorKind.Validation, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return CommandOutcome.Fail(CommandErrorKind.Failed, e.Message);
        }
    }
}
