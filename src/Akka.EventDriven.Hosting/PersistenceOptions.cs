using System.Text;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Hosting;

/// <summary>Store options (<c>akka.event-driven.persistence</c>); null keeps the configured default.</summary>
public sealed class PersistenceOptions
{
    /// <summary>SQLite (default) or PostgreSQL.</summary>
    public StoreProvider? Provider { get; set; }
    /// <summary>Connection string or postgresql:// URL. Default for SQLite: <c>Data Source=eventdriven.db</c>;
    /// for PostgreSQL: the DATABASE_URL environment variable.</summary>
    public string? ConnectionString { get; set; }
    /// <summary>Most events per journal round trip. Default 2000.</summary>
    public int? BatchSize { get; set; }
    /// <summary>Concurrent journal writers. Default 2 (always 1 on SQLite).</summary>
    public int? Parallelism { get; set; }
    /// <summary>Poll interval of live queries. Default 250 ms.</summary>
    public TimeSpan? QueryRefreshInterval { get; set; }
    /// <summary>akka-persistence-sql journal only: how tag rows are written: "off" (row by row, default), "parameterized"
    /// or "inline" (one statement per batch).</summary>
    public string? TagInsertMode { get; set; }
    /// <summary>Write journal: "batched" (default: group commit, one transaction per batch) or "akka-persistence-sql".</summary>
    public string? Journal { get; set; }

    internal string ToHocon()
    {
        var sb = new StringBuilder("akka.event-driven.persistence {\n");
        if (Provider is { } p) sb.Append($"  provider = {(p == StoreProvider.PostgreSql ? "postgresql" : "sqlite")}\n");
        if (ConnectionString is { } cs) sb.Append($"  connection-string = {HoconText.Quote(cs)}\n");
        if (BatchSize is { } b) sb.Append($"  batch-size = {b}\n");
        if (Parallelism is { } par) sb.Append($"  parallelism = {par}\n");
        if (Journal is { } j) sb.Append($"  journal = {HoconText.Quote(j)}\n");
        if (TagInsertMode is { } t) sb.Append($"  tag-insert-mode = {HoconText.Quote(t)}\n");
        if (QueryRefreshInterval is { } r) sb.Append($"  query-refresh-interval = {(long)r.TotalMilliseconds}ms\n");
        return sb.Append("}\n").ToString();
    }
}
