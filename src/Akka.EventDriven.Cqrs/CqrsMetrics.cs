using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Akka.EventDriven.Cqrs;

/// <summary>The System.Diagnostics.Metrics instruments of the command and query buses (meter <see cref="MeterName"/>):
/// <c>eventdriven.cqrs.commands</c> (by <c>command</c> and <c>outcome</c>: accepted, or the
/// <see cref="CommandErrorKind"/> in snake case), <c>eventdriven.cqrs.command.duration</c> (ms),
/// <c>eventdriven.cqrs.queries</c> (by <c>query</c> and <c>outcome</c>: computed, cached, failed) and
/// <c>eventdriven.cqrs.query.duration</c> (ms).</summary>
public static class CqrsMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "Akka.EventDriven.Cqrs";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Commands = Meter.CreateCounter<long>("eventdriven.cqrs.commands", "{command}",
        "Commands executed by the command bus, by outcome (accepted, validation, rejected, concurrency_conflict, timeout, no_handler, failed)");
    private static readonly Histogram<double> CommandDuration = Meter.CreateHistogram<double>("eventdriven.cqrs.command.duration", "ms",
        "Time the command bus took to answer a command");
    private static readonly Counter<long> Queries = Meter.CreateCounter<long>("eventdriven.cqrs.queries", "{query}",
        "Queries answered by the query bus, by outcome (computed, cached, failed)");
    private static readonly Histogram<double> QueryDuration = Meter.CreateHistogram<double>("eventdriven.cqrs.query.duration", "ms",
        "Time the query bus took to answer a query");

    internal static void CommandDone(string command, CommandOutcome outcome, TimeSpan elapsed)
    {
        var tags = new TagList { { "command", command }, { "outcome", OutcomeName(outcome) } };
        Commands.Add(1, tags);
        CommandDuration.Record(elapsed.TotalMilliseconds, tags);
    }

    internal static void QueryDone(string query, string outcome, TimeSpan elapsed)
    {
        var tags = new TagList { { "query", query }, { "outcome", outcome } };
        Queries.Add(1, tags);
        QueryDuration.Record(elapsed.TotalMilliseconds, tags);
    }

    private static string OutcomeName(CommandOutcome outcome) => outcome.Success ? "accepted" : outcome.ErrorKind switch
    {
        CommandErrorKind.Validation => "validation",
        CommandErrorKind.Rejected => "rejected",
        CommandErrorKind.ConcurrencyConflict => "concurrency_conflict",
        CommandErrorKind.Timeout => "timeout",
        CommandErrorKind.NoHandler => "no_handler",
        _ => "failed",
    };
}
