-- Two roles for one Samen Leren database (architecture.md, "Tenancy", wall 3).
-- Run once as a superuser; replace the passwords. psql -v ON_ERROR_STOP=1 -f postgres-roles.sql
CREATE ROLE samenleren_owner LOGIN PASSWORD 'change-me-owner' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE samenleren_app   LOGIN PASSWORD 'change-me-app'   NOSUPERUSER NOBYPASSRLS;
CREATE DATABASE samenleren OWNER samenleren_owner;
\connect samenleren
ALTER SCHEMA public OWNER TO samenleren_owner;
-- samenleren_app gets its grants from the migrations (flask --app samenleren db upgrade with
-- MIGRATIONS_DATABASE_URL=postgresql://samenleren_owner:...@host/samenleren).
