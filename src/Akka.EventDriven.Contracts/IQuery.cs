namespace Akka.EventDriven;

/// <summary>
/// Marks a query type with the type of its answer, so that <c>QueryBus.ExecuteAsync(query)</c> returns a
/// <typeparamref name="TResult"/> without the caller naming it, and a handler registered for the query must return
/// one. Queries need no stable name (<c>[EventType]</c>) to run in-process; one is needed only to be asked over HTTP,
/// where <c>POST /api/queries</c> picks the query type by that name.
/// </summary>
/// <typeparam name="TResult">What the query answers.</typeparam>
public interface IQuery<out TResult>;
