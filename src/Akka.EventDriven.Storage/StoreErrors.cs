using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Akka.EventDriven.Storage;

/// <summary>How a database error should be handled, for both providers: retried (it may pass by itself), or given up
/// on for the row that caused it (retrying the same row cannot fix it).</summary>
public static class StoreErrors
{
    /// <summary>True for a failure that may pass by itself: the database away or restarting, a lock held by another
    /// writer (SQLite's BUSY and LOCKED), a timeout, a broken connection. Retrying later can succeed.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        NpgsqlException n => n.IsTransient || n is not PostgresException,
        SqliteException s => s.SqliteErrorCode is 5 or 6, // SQLITE_BUSY, SQLITE_LOCKED
        TimeoutException or IOException or OperationCanceledException => true,
        _ => false,
    };

    /// <summary>True for a database error that retrying the same row cannot fix: PostgreSQL's data exceptions (22xxx),
    /// integrity violations (23xxx) and syntax/access errors (42xxx); SQLite's too big (18), constraint (19) and type
    /// mismatch (20).</summary>
    public static bool IsPermanent(Exception e) => e is DbException db && (db.SqlState is { Length: 5 } state
        ? state.StartsWith("22", StringComparison.Ordinal) || state.StartsWith("23", StringComparison.Ordinal) || state.StartsWith("42", StringComparison.Ordinal)
        : db is SqliteException && (db.ErrorCode & 0xff) is 18 or 19 or 20);

    /// <summary>True when creating a table failed only because another creator made it at the same moment, outside
    /// any lock this process takes (PostgreSQL 23505 on pg_type, 42P07 duplicate table, 42710 duplicate object):
    /// the object exists now, so trying again succeeds.</summary>
    public static bool IsCreateRace(Exception e) => e is PostgresException
    {
        SqlState: PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.DuplicateObject,
    };

    /// <summary><paramref name="value"/> with NUL written as the JSON escape <c>\u0000</c>: readable, and accepted by
    /// every text column (PostgreSQL refuses NUL in text).</summary>
    public static string Text(string value) =>
        value.Contains('\0') ? value.Replace("\0", "\\u0000", StringComparison.Ordinal) : value;
}
