#include "statement_guard.hpp"

#include <gtest/gtest.h>

namespace dobj {
namespace {

TEST(StatementGuard, RefusesStatementsThatChangeTheSession) {
  for (const char* q : {"SET ROLE dobj_worker", "reset role", "  -- hi\n  RESET ALL",
                        "/* a /* nested */ */ set x = 1", "SET SESSION AUTHORIZATION postgres",
                        "DO $$ BEGIN PERFORM 1; END $$", "COMMIT", "rollback", "BEGIN",
                        "savepoint x", "RELEASE SAVEPOINT dobj_turn", "DISCARD ALL",
                        "SELECT set_config('role', 'dobj_worker', true)",
                        "select PG_CATALOG.SET_CONFIG('a','b',1)", "LISTEN x", "END"}) {
    EXPECT_TRUE(refused_statement(q)) << q;
  }
}

TEST(StatementGuard, AllowsDataStatements) {
  for (const char* q : {"SELECT 1", "  insert into t values (1)", "-- settings\nUPDATE t SET v = 1",
                        "CREATE TABLE setup (x int)", "WITH s AS (SELECT 1) SELECT * FROM s",
                        "DELETE FROM reset_log", "/* begin */ SELECT 'commit'", ""}) {
    EXPECT_FALSE(refused_statement(q)) << q;
  }
}

}  // namespace
}  // namespace dobj
