using System.Text;

namespace Akka.EventDriven.Projections;

/// <summary>What <see cref="ProjectionHostingExtensions.WithProjections"/> sets: the read journal's settings. A null
/// setting keeps the environment file's value or, failing that, reference.conf
/// (<c>akka.persistence.query.journal.event-driven</c>).</summary>
public sealed class ProjectionsOptions
{
    /// <summary>How long a live query waits before it polls again once caught up (<c>refresh-interval</c>). Default 250 ms.</summary>
    public TimeSpan? RefreshInterval { get; set; }

    /// <summary>Most journal rows one query reads (<c>batch-size</c>). Default 500.</summary>
    public int? BatchSize { get; set; }

    /// <summary>SQLite: how long a hole in the orderings is waited for (<c>gap-timeout</c>). Default 10 s.</summary>
    public TimeSpan? GapTimeout { get; set; }

    internal string ToHocon()
    {
        var hocon = new StringBuilder(EventDrivenReadJournal.Identifier).Append(" {\n");
        if (RefreshInterval is { } r) hocon.Append("  refresh-interval = ").Append(HoconText.Duration(r)).Append('\n');
        if (BatchSize is { } b) hocon.Append("  batch-size = ").Append(b).Append('\n');
        if (GapTimeout is { } g) hocon.Append("  gap-timeout = ").Append(HoconText.Duration(g)).Append('\n');
        return hocon.Append("}\n").ToString();
    }
}
